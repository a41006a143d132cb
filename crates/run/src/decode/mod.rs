//! Output decoders: raw output tensors → detections in original-image pixels.
//!
//! The adapter's `output.decoder` selects the layout; adding a layout touches only this
//! module. Runs after inference, timed as the `post` stage.

mod boxes;
mod efficient_nms;
mod end_to_end;
mod grid;
pub mod nms;
mod priors;
mod table;

use crate::preprocess::Transform;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{Adapter, GridSpec, OutputSpec};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("output tensor `{0}` named by the adapter is missing from the engine's outputs")]
    MissingTensor(String),
    #[error("output tensor `{name}` has shape {shape:?}; the adapter's `{decoder}` decoder expects {expected}")]
    Shape {
        name: String,
        shape: Vec<usize>,
        decoder: &'static str,
        expected: String,
    },
}

impl adasval_core::exit::Classify for DecodeError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// A score at or above the threshold; NaN never passes.
fn passes(score: f32, threshold: f32) -> bool {
    score >= threshold
}

/// The candidate with these corners, or none when a coordinate is not finite (a NaN or an
/// overflowed exp in a raw output must not become a box).
fn candidate(class_id: usize, score: f32, [x1, y1, x2, y2]: [f32; 4]) -> Option<Detection> {
    let bbox = [x1, y1, x2 - x1, y2 - y1];
    bbox.iter().all(|v| v.is_finite()).then_some(Detection {
        class_id: class_id as u32,
        score,
        bbox,
    })
}

pub(crate) fn find<'a>(outputs: &'a [Tensor], name: &str) -> Result<&'a Tensor, DecodeError> {
    outputs
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| DecodeError::MissingTensor(name.to_string()))
}

/// Decode the outputs of one frame: candidates above the score threshold, then (unless
/// the model ran it) the adapter's top-k, clipping and NMS, then `max_detections`.
pub fn decode(
    adapter: &Adapter,
    outputs: &[Tensor],
    transform: &Transform,
) -> Result<Vec<Detection>, DecodeError> {
    let (w, h) = (adapter.input.width, adapter.input.height);
    let n = adapter.classes.len();
    let thr = adapter.score_threshold;
    let normalized_to = |yes: bool| yes.then_some((w, h));
    let (candidates, needs_nms) = match &adapter.output {
        OutputSpec::Yolox { tensor, strides } => (
            grid::decode(
                &GridSpec::yolox(tensor, strides),
                outputs,
                "yolox",
                w,
                h,
                n,
                thr,
            )?,
            true,
        ),
        OutputSpec::Grid(g) => (grid::decode(g, outputs, "grid", w, h, n, thr)?, true),
        OutputSpec::BoxesScoresClasses {
            boxes,
            scores,
            classes,
            box_format,
            normalized,
            apply_nms,
        } => (
            boxes::decode(
                find(outputs, boxes)?,
                find(outputs, scores)?,
                find(outputs, classes)?,
                *box_format,
                normalized_to(*normalized),
                thr,
                n,
            )?,
            *apply_nms,
        ),
        // The engine's plugin already suppressed overlaps.
        OutputSpec::EfficientNms {
            num_detections,
            boxes,
            scores,
            classes,
            box_format,
            normalized,
        } => (
            efficient_nms::decode(
                find(outputs, num_detections)?,
                find(outputs, boxes)?,
                find(outputs, scores)?,
                find(outputs, classes)?,
                *box_format,
                normalized_to(*normalized),
                thr,
                n,
            )?,
            false,
        ),
        // End-to-end detectors are trained to need no NMS.
        OutputSpec::EndToEnd(e) => (
            end_to_end::decode(
                e,
                find(outputs, &e.boxes)?,
                find(outputs, &e.logits)?,
                w,
                h,
                n,
                thr,
            )?,
            false,
        ),
        OutputSpec::Priors(p) => (
            priors::decode(
                p,
                find(outputs, &p.deltas)?,
                find(outputs, &p.scores)?,
                find(outputs, &p.priors)?,
                w,
                h,
                n,
                thr,
            )?,
            true,
        ),
        OutputSpec::Table(t) => (
            table::decode(t, find(outputs, &t.tensor)?, w, h, n, thr)?,
            t.apply_nms,
        ),
    };
    if !needs_nms {
        return Ok(finish(candidates, transform, adapter));
    }
    let mut c = candidates;
    if let Some(k) = adapter.top_k {
        // Stable: equal scores keep their decoding order.
        c.sort_by(|a, b| b.score.total_cmp(&a.score));
        c.truncate(k);
    }
    if adapter.clip_to_input {
        for d in &mut c {
            d.bbox = clip(d.bbox, w as f32, h as f32);
        }
    }
    let kept = if adapter.nms_class_agnostic {
        nms::nms_class_agnostic(c, adapter.nms_iou)
    } else {
        nms::nms_per_class(c, adapter.nms_iou)
    };
    Ok(finish(kept, transform, adapter))
}

/// Clip an `[x, y, w, h]` box to `0..w_in × 0..h_in` through its corners.
fn clip(b: [f32; 4], w_in: f32, h_in: f32) -> [f32; 4] {
    let x1 = b[0].clamp(0.0, w_in);
    let y1 = b[1].clamp(0.0, h_in);
    let x2 = (b[0] + b[2]).clamp(0.0, w_in);
    let y2 = (b[1] + b[3]).clamp(0.0, h_in);
    [x1, y1, x2 - x1, y2 - y1]
}

fn finish(mut dets: Vec<Detection>, transform: &Transform, adapter: &Adapter) -> Vec<Detection> {
    // With `scenario_classes` the run is judged in the scenario vocabulary: a detection
    // takes the scenario class its model class maps onto, and one of a class mapped onto
    // nothing answers no requirement and is dropped before `max_detections` counts.
    // This runs per frame inside the timed post-processing, so the id is looked up in the
    // map directly rather than through `Adapter::judged_classes`, which allocates.
    if let Some(map) = &adapter.scenario_classes {
        dets.retain_mut(|d| {
            let judged = adapter
                .classes
                .get(d.class_id as usize)
                .and_then(|m| adasval_record::scenario_classes::judged_id(map, m));
            match judged {
                Some(c) => {
                    d.class_id = c;
                    true
                }
                None => false,
            }
        });
    }
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    dets.truncate(adapter.max_detections);
    for d in &mut dets {
        d.bbox = transform.to_original(d.bbox);
    }
    dets.retain(|d| d.bbox[2] > 0.0 && d.bbox[3] > 0.0);
    dets
}
