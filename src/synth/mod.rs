//! placeholder (replaced by the synth branch): the agreed API surface only.
use serde::{Deserialize, Serialize};

pub const CLASS_NAMES: [&str; 5] = ["pedestrian", "cyclist", "car", "truck", "obstacle"];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Day,
    Dusk,
    Night,
    Fog,
    Rain,
}

pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub condition: Condition,
    pub objects: Vec<LabeledObject>,
}

pub struct LabeledObject {
    pub class_id: u32,
    pub kind: String,
    pub bbox: [f32; 4],
    pub full_bbox: [f32; 4],
    pub visible_pixels: u32,
    pub occlusion: f32,
    pub truncation: f32,
    pub track_id: u64,
    pub ignore: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SynthError(String);

impl crate::exit::Classify for SynthError {
    fn status(&self) -> crate::exit::Status {
        crate::exit::Status::BadInput
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

impl SequenceSpec {
    pub fn validate(&self) -> Result<(), SynthError> {
        Ok(())
    }
    pub fn render(&self, _frame: u32) -> Result<Frame, SynthError> {
        Err(SynthError("placeholder".into()))
    }
}
