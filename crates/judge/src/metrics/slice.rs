//! Figures of one slice of a run's frames (`adasval eval --run DIR --slice '{...}'`, and every
//! requirement that names a `slice:`): which objects count (class, box height, occlusion or
//! visibility, truncation, KITTI difficulty, distance, the frame's condition) and how
//! unmatched detections outside the slice are treated. The slice and its rule are printed
//! beside every figure, since the same detections give different precision under each rule.
//!
//! Objects of the slice's class outside its limits become ignore regions (a detection on
//! one is neither a true nor a false positive; missing it is not a miss). A detection that
//! matches nothing is a false positive, except under the `ignored` rule when its own box
//! height is outside the slice's height range: then it is outside the evaluated size range
//! and ignored, as pycocotools ignores unmatched detections outside an area range
//! (`dtIgnore`), here on box height as pedestrian benchmarks size objects.

use crate::metrics::coco;
use crate::metrics::frames::{frames_to_coco_input, Counts, FrameEval};
use crate::metrics::lamr::{log_average_miss_rate, ScoredOutcome};
use crate::metrics::matching::{match_objects, Outcome};
use crate::metrics::safety::{critical_misses, CriticalSettings};
use adasval_core::types::GtObject;
use serde::{Deserialize, Serialize};

/// How unmatched detections outside the slice count (`ignore` / `count` as a requirement's
/// `outside_slice:` writes it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outside {
    /// Outside the slice's height range: ignored (pycocotools' area-range rule).
    #[default]
    #[serde(alias = "ignore")]
    Ignored,
    /// Every unmatched detection of the class is a false positive.
    #[serde(alias = "count")]
    Counted,
}

/// KITTI's difficulty levels as a slice names them: the devkit's height, occlusion and
/// truncation limits ([`crate::metrics::kitti::Difficulty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SliceDifficulty {
    Easy,
    Moderate,
    Hard,
}

impl SliceDifficulty {
    fn level(self) -> crate::metrics::kitti::Difficulty {
        use crate::metrics::kitti::Difficulty;
        match self {
            Self::Easy => Difficulty::Easy,
            Self::Moderate => Difficulty::Moderate,
            Self::Hard => Difficulty::Hard,
        }
    }

    /// The devkit's rule on an object: taller than the level's height, occlusion level at most
    /// the level's (KITTI's levels 0, 1, 2 are stored as 0, 1/3, 2/3; unknown is outside),
    /// truncation at most the level's.
    fn admits(self, g: &GtObject) -> bool {
        let l = self.level();
        f64::from(g.bbox[3]) > l.min_height()
            && g.occlusion
                .is_some_and(|o| f64::from(o) <= f64::from(l.max_occlusion()) / 3.0 + 1e-6)
            && g.truncation
                .is_some_and(|t| f64::from(t) <= l.max_truncation() + 1e-9)
    }
}

/// Which objects count. Every field is optional; an empty slice is every object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slice {
    /// A model class; without it every class, each matched on its own, pooled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Box height in pixels, at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_height: Option<f32>,
    /// Box height in pixels, below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<f32>,
    /// Occlusion fraction, at most (objects of unknown occlusion are outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occlusion: Option<f32>,
    /// Visible fraction (1 − occlusion), at least (objects of unknown occlusion are outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_visibility: Option<f32>,
    /// Visible fraction, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_visibility: Option<f32>,
    /// Truncation fraction, at most (objects of unknown truncation are outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_truncation: Option<f32>,
    /// A KITTI difficulty level (`easy`, `moderate`, `hard`): the devkit's limits on height,
    /// occlusion level and truncation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<SliceDifficulty>,
    /// Distance (m) from the ego's bumper, at least (objects of unknown distance are outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_distance: Option<f32>,
    /// Distance (m), below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_distance: Option<f32>,
    /// The frame's condition (day, dusk, night, rain, fog, ...); frames of unknown
    /// condition are left out and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Unmatched detections outside the slice: `ignored` (the default) or `counted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside: Option<Outside>,
}

/// The fields a slice may name, for messages.
pub const FIELDS: [&str; 12] = [
    "class",
    "min_height",
    "max_height",
    "max_occlusion",
    "min_visibility",
    "max_visibility",
    "max_truncation",
    "difficulty",
    "min_distance",
    "max_distance",
    "condition",
    "outside",
];

#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    #[error("slice {slice}: {message} (valid fields: {})", FIELDS.join(", "))]
    Parse { slice: String, message: String },
    #[error("slice: class `{class}` is not a class of engine `{engine}` ({known})")]
    UnknownClass {
        class: String,
        engine: String,
        known: String,
    },
}

impl adasval_core::exit::Classify for SliceError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

impl Slice {
    /// Parses a YAML mapping (`{class: pedestrian, min_height: 40, condition: day}`), the
    /// form a requirement names a slice in.
    pub fn parse(text: &str) -> Result<Slice, SliceError> {
        let s: Slice = serde_saphyr::from_str(text).map_err(|e| SliceError::Parse {
            slice: text.to_string(),
            message: e.to_string(),
        })?;
        s.check().map_err(|message| SliceError::Parse {
            slice: text.to_string(),
            message,
        })?;
        Ok(s)
    }

    /// The limits make sense: numbers non-negative, fractions at most 1, each range's lower
    /// end below its upper end. The message names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, v, fraction) in [
            ("min_height", self.min_height, false),
            ("max_height", self.max_height, false),
            ("max_occlusion", self.max_occlusion, true),
            ("min_visibility", self.min_visibility, true),
            ("max_visibility", self.max_visibility, true),
            ("max_truncation", self.max_truncation, true),
            ("min_distance", self.min_distance, false),
            ("max_distance", self.max_distance, false),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v >= 0.0 && (!fraction || v <= 1.0))) {
                return Err(if fraction {
                    format!("`{name}` must be a fraction in [0, 1]")
                } else {
                    format!("`{name}` must be a number >= 0")
                });
            }
        }
        for (lo_name, lo, hi_name, hi) in [
            ("min_height", self.min_height, "max_height", self.max_height),
            (
                "min_visibility",
                self.min_visibility,
                "max_visibility",
                self.max_visibility,
            ),
            (
                "min_distance",
                self.min_distance,
                "max_distance",
                self.max_distance,
            ),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo >= hi {
                    return Err(format!("`{lo_name}` {lo} is not below `{hi_name}` {hi}"));
                }
            }
        }
        Ok(())
    }

    /// The slice and its rule in words, printed beside every figure.
    pub fn describe(&self) -> String {
        let mut parts = vec![match &self.class {
            Some(c) => format!("class {c}"),
            None => "every class".to_string(),
        }];
        match (self.min_height, self.max_height) {
            (Some(lo), Some(hi)) => parts.push(format!("height {lo}-{hi} px")),
            (Some(lo), None) => parts.push(format!("height >= {lo} px")),
            (None, Some(hi)) => parts.push(format!("height < {hi} px")),
            (None, None) => {}
        }
        if let Some(o) = self.max_occlusion {
            parts.push(format!("occlusion <= {o}"));
        }
        match (self.min_visibility, self.max_visibility) {
            (Some(lo), Some(hi)) => parts.push(format!("visibility {lo}-{hi}")),
            (Some(lo), None) => parts.push(format!("visibility >= {lo}")),
            (None, Some(hi)) => parts.push(format!("visibility <= {hi}")),
            (None, None) => {}
        }
        if let Some(t) = self.max_truncation {
            parts.push(format!("truncation <= {t}"));
        }
        if let Some(d) = self.difficulty {
            parts.push(format!("KITTI {}", d.level().name()));
        }
        match (self.min_distance, self.max_distance) {
            (Some(lo), Some(hi)) => parts.push(format!("distance {lo}-{hi} m")),
            (Some(lo), None) => parts.push(format!("distance >= {lo} m")),
            (None, Some(hi)) => parts.push(format!("distance < {hi} m")),
            (None, None) => {}
        }
        if let Some(c) = &self.condition {
            parts.push(format!("condition {c}"));
        }
        let rule = match self.rule() {
            Outside::Ignored if self.min_height.is_some() || self.max_height.is_some() => {
                "unmatched detections outside the height range ignored (pycocotools' area-range rule)"
            }
            Outside::Ignored => "every unmatched detection counted (the slice has no height range)",
            Outside::Counted => "every unmatched detection counted as a false positive",
        };
        format!("{}; {rule}", parts.join(", "))
    }

    /// The rule for unmatched detections outside the slice (ignored unless said otherwise).
    pub fn rule(&self) -> Outside {
        self.outside.unwrap_or_default()
    }

    fn height_inside(&self, h: f32) -> bool {
        self.min_height.is_none_or(|lo| h >= lo) && self.max_height.is_none_or(|hi| h < hi)
    }

    /// Whether a labelled object of the slice's class is inside its limits. A limit on an
    /// attribute the label does not know (occlusion, truncation, distance) leaves the object
    /// outside: it cannot be shown to belong.
    pub fn object_inside(&self, g: &GtObject) -> bool {
        let visibility = g.occlusion.map(|o| 1.0 - o);
        self.height_inside(g.bbox[3])
            && self
                .max_occlusion
                .is_none_or(|m| g.occlusion.is_some_and(|o| o <= m))
            && self
                .min_visibility
                .is_none_or(|m| visibility.is_some_and(|v| v >= m))
            && self
                .max_visibility
                .is_none_or(|m| visibility.is_some_and(|v| v <= m))
            && self
                .max_truncation
                .is_none_or(|m| g.truncation.is_some_and(|t| t <= m))
            && self.difficulty.is_none_or(|d| d.admits(g))
            && self
                .min_distance
                .is_none_or(|m| g.distance_m.is_some_and(|d| d >= m))
            && self
                .max_distance
                .is_none_or(|m| g.distance_m.is_some_and(|d| d < m))
    }
}

/// A frame with the condition its record gives (generated frames know it).
pub struct SliceFrame<'a> {
    pub frame: &'a FrameEval,
    pub condition: Option<&'a str>,
}

/// The figures of one slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceFigures {
    /// The slice and its rule, in words.
    pub slice: String,
    /// Frames in the slice.
    pub frames: usize,
    /// Frames left out because their condition is unknown (the slice names one).
    #[serde(skip_serializing_if = "is_zero")]
    pub frames_without_condition: usize,
    /// Objects that count.
    pub objects: u64,
    /// Precision and recall of the detections as stored (at the adapter's score threshold),
    /// with Clopper–Pearson intervals.
    pub counts: Counts,
    /// COCO AP and AP50 of the slice's objects (objects outside it as ignore regions);
    /// `None` where undefined.
    #[serde(rename = "AP")]
    pub ap: Option<f64>,
    #[serde(rename = "AP50")]
    pub ap50: Option<f64>,
    /// Log-average miss rate (Caltech definition, [`crate::metrics::lamr`]) over the stored
    /// detections, under the slice's rule; `None` without objects or frames.
    pub lamr: Option<f64>,
    /// Critical misses among the slice's objects (an object inside the slice and the safety
    /// view missed in that many consecutive frames); `None` when no rule was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_misses: Option<usize>,
}

/// The safety view's rule for a critical miss, applied to the slice's objects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriticalRule {
    pub min_height_px: f32,
    pub consecutive_frames: usize,
    pub roi: Option<[f32; 4]>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Evaluates `slice` over `frames` at IoU `iou`; `classes` are the engine's.
pub fn evaluate(
    frames: &[SliceFrame],
    classes: &[String],
    engine: &str,
    slice: &Slice,
    iou: f64,
    confidence: f64,
) -> Result<SliceFigures, SliceError> {
    evaluate_with(frames, classes, engine, slice, iou, confidence, None)
}

/// [`evaluate`], with critical misses counted under `critical` when given.
pub fn evaluate_with(
    frames: &[SliceFrame],
    classes: &[String],
    engine: &str,
    slice: &Slice,
    iou: f64,
    confidence: f64,
    critical: Option<&CriticalRule>,
) -> Result<SliceFigures, SliceError> {
    let class_ids: Vec<u32> =
        match &slice.class {
            Some(c) => vec![classes.iter().position(|x| x == c).ok_or_else(|| {
                SliceError::UnknownClass {
                    class: c.clone(),
                    engine: engine.to_string(),
                    known: classes.join(", "),
                }
            })? as u32],
            None => (0..classes.len() as u32).collect(),
        };
    let mut without_condition = 0;
    let mut kept: Vec<FrameEval> = Vec::new();
    for f in frames {
        if let Some(want) = &slice.condition {
            match f.condition {
                None => {
                    without_condition += 1;
                    continue;
                }
                Some(c) if c != want => continue,
                Some(_) => {}
            }
        }
        // Only the slice's classes, objects outside it as ignore regions.
        let gt = f
            .frame
            .gt
            .iter()
            .filter(|g| class_ids.contains(&g.class_id))
            .map(|g| GtObject {
                ignore: g.ignore || !slice.object_inside(g),
                ..g.clone()
            })
            .collect();
        let dets = f
            .frame
            .dets
            .iter()
            .filter(|d| class_ids.contains(&d.class_id))
            .cloned()
            .collect();
        kept.push(FrameEval {
            gt,
            dets,
            ..f.frame.clone()
        });
    }
    let (mut tp, mut fp, mut fn_, mut objects) = (0u64, 0u64, 0u64, 0u64);
    // Every stored detection with what it became under the slice's rule, for the miss rate.
    let mut scored: Vec<ScoredOutcome> = Vec::new();
    for f in &kept {
        for &c in &class_ids {
            let gts: Vec<&GtObject> = f.gt.iter().filter(|g| g.class_id == c).collect();
            let dets: Vec<_> = f.dets.iter().filter(|d| d.class_id == c).collect();
            let m = match_objects(&gts, &dets, iou);
            for (o, d) in m.outcomes.iter().zip(&dets) {
                let outcome = match o {
                    Outcome::FalsePositive
                        if slice.rule() == Outside::Ignored && !slice.height_inside(d.bbox[3]) =>
                    {
                        Outcome::Ignored
                    }
                    o => *o,
                };
                match outcome {
                    Outcome::TruePositive => tp += 1,
                    Outcome::FalsePositive => fp += 1,
                    Outcome::Ignored => {}
                }
                scored.push(ScoredOutcome {
                    score: f64::from(d.score),
                    outcome,
                });
            }
            for (g, m) in gts.iter().zip(&m.gt_match) {
                if !(g.ignore || g.crowd) {
                    objects += 1;
                    fn_ += m.is_none() as u64;
                }
            }
        }
    }
    let ap = coco::evaluate(&frames_to_coco_input(&kept, classes.len()));
    let pick = |f: fn(&coco::eval::ClassAp) -> f64| {
        let v: Vec<f64> = class_ids
            .iter()
            .filter_map(|&c| ap.per_class.get(c as usize).map(f))
            .filter(|v| *v >= 0.0)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let lamr = log_average_miss_rate(&scored, objects as usize, kept.len()).map(|r| r.lamr);
    let critical_misses = critical.map(|rule| {
        critical_misses(
            &kept,
            &CriticalSettings {
                classes: class_ids.clone(),
                min_height_px: rule.min_height_px,
                roi: rule.roi,
                min_consecutive: rule.consecutive_frames,
                iou_threshold: iou,
            },
        )
        .len()
    });
    Ok(SliceFigures {
        slice: slice.describe(),
        frames: kept.len(),
        frames_without_condition: without_condition,
        objects,
        counts: Counts::new(iou, tp, fp, fn_, confidence),
        ap: pick(|c| c.ap),
        ap50: pick(|c| c.ap50),
        lamr,
        critical_misses,
    })
}

/// One engine's figures for one slice: over every scenario of the run (corruption rungs
/// left out), then per scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineSlice {
    pub all_scenarios: SliceFigures,
    pub per_scenario: Vec<ScenarioSlice>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSlice {
    pub scenario: String,
    #[serde(flatten)]
    pub figures: SliceFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineSlices {
    pub engine: String,
    /// The adapter's score threshold: the stored detections are those above it.
    pub score_threshold: f32,
    pub slices: Vec<EngineSlice>,
}

fn slice_frames<'a>(frames: &'a [FrameEval], conds: &'a [Option<String>]) -> Vec<SliceFrame<'a>> {
    frames
        .iter()
        .zip(conds)
        .map(|(frame, c)| SliceFrame {
            frame,
            condition: c.as_deref(),
        })
        .collect()
}

/// `adasval eval --run`: the slices' figures of every engine of a stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSlices {
    pub run_id: String,
    pub iou_threshold: f64,
    pub confidence: f64,
    pub engines: Vec<EngineSlices>,
}

/// Evaluates `slices` on every engine of a stored run, from its raw records.
pub fn evaluate_run(
    run: &adasval_record::stored::StoredRun,
    slices: &[Slice],
    iou: f64,
    confidence: f64,
) -> Result<RunSlices, SliceError> {
    let mut engines = Vec::new();
    for e in &run.record.engines {
        let traces: Vec<_> = run.traces.iter().filter(|t| t.engine == e.name).collect();
        // Each scenario's frames with the condition its golden line records.
        let per_trace: Vec<(String, Vec<FrameEval>, Vec<Option<String>>)> = traces
            .iter()
            .map(|t| {
                let frames = crate::detection::frames_of(&run.golden, t);
                let conditions = run
                    .golden
                    .iter()
                    .filter(|g| g.scenario == t.scenario)
                    .map(|g| g.condition.clone())
                    .collect();
                (t.scenario.clone(), frames, conditions)
            })
            .collect();
        // Corruption rungs replay a scenario's frames corrupted: they are the robustness
        // analysis, not more of the scenario set, so the pooled row leaves them out (as the
        // evidence requirements are judged on does); each still has its own row.
        let rung = |scenario: &str| {
            run.record
                .scenarios
                .iter()
                .any(|s| s.id == scenario && s.corruption.is_some())
        };
        let mut out = Vec::new();
        for s in slices {
            let all: Vec<SliceFrame> = per_trace
                .iter()
                .filter(|(scenario, _, _)| !rung(scenario))
                .flat_map(|(_, f, c)| slice_frames(f, c))
                .collect();
            let all_scenarios = evaluate(&all, &e.classes, &e.name, s, iou, confidence)?;
            let per_scenario = per_trace
                .iter()
                .map(|(scenario, f, c)| {
                    evaluate(&slice_frames(f, c), &e.classes, &e.name, s, iou, confidence).map(
                        |figures| ScenarioSlice {
                            scenario: scenario.clone(),
                            figures,
                        },
                    )
                })
                .collect::<Result<_, _>>()?;
            out.push(EngineSlice {
                all_scenarios,
                per_scenario,
            });
        }
        engines.push(EngineSlices {
            engine: e.name.clone(),
            score_threshold: e.score_threshold,
            slices: out,
        });
    }
    Ok(RunSlices {
        run_id: run.record.run_id.clone(),
        iou_threshold: iou,
        confidence,
        engines,
    })
}
