//! Output decoders: raw output tensors → detections in original-image pixels.
//!
//! The adapter's `output.decoder` selects the layout; adding a layout touches only this
//! module. Runs after inference, timed as the `post` stage.

mod boxes;
mod efficient_nms;
pub mod nms;
mod yolox;

use crate::preprocess::Transform;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{Adapter, OutputSpec};

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

pub(crate) fn find<'a>(outputs: &'a [Tensor], name: &str) -> Result<&'a Tensor, DecodeError> {
    outputs
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| DecodeError::MissingTensor(name.to_string()))
}

/// Decode the outputs of one frame.
pub fn decode(
    adapter: &Adapter,
    outputs: &[Tensor],
    transform: &Transform,
) -> Result<Vec<Detection>, DecodeError> {
    let candidates = match &adapter.output {
        OutputSpec::Yolox { tensor, strides } => yolox::decode(
            find(outputs, tensor)?,
            strides,
            adapter.input.width,
            adapter.input.height,
            adapter.classes.len(),
            adapter.score_threshold,
        )?,
        OutputSpec::BoxesScoresClasses {
            boxes,
            scores,
            classes,
            box_format,
            normalized,
            apply_nms,
        } => {
            let c = boxes::decode(
                find(outputs, boxes)?,
                find(outputs, scores)?,
                find(outputs, classes)?,
                *box_format,
                normalized.then_some((adapter.input.width, adapter.input.height)),
                adapter.score_threshold,
                adapter.classes.len(),
            )?;
            if !*apply_nms {
                return Ok(finish(c, transform, adapter.max_detections));
            }
            c
        }
        OutputSpec::EfficientNms {
            num_detections,
            boxes,
            scores,
            classes,
            box_format,
            normalized,
        } => {
            let c = efficient_nms::decode(
                find(outputs, num_detections)?,
                find(outputs, boxes)?,
                find(outputs, scores)?,
                find(outputs, classes)?,
                *box_format,
                normalized.then_some((adapter.input.width, adapter.input.height)),
                adapter.score_threshold,
                adapter.classes.len(),
            )?;
            // The engine's plugin already suppressed overlaps.
            return Ok(finish(c, transform, adapter.max_detections));
        }
    };
    let kept = nms::nms_per_class(candidates, adapter.nms_iou);
    Ok(finish(kept, transform, adapter.max_detections))
}

fn finish(mut dets: Vec<Detection>, transform: &Transform, max: usize) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    dets.truncate(max);
    for d in &mut dets {
        d.bbox = transform.to_original(d.bbox);
    }
    dets.retain(|d| d.bbox[2] > 0.0 && d.bbox[3] > 0.0);
    dets
}
