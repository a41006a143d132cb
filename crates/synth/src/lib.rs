//! Procedural forward-camera road scenes with exact labels.
//!
//! Sits at the very start of the pipeline: it makes the demo material that the
//! detector is trained on and that the generated scenarios replay. A scene is
//! built either at random from `(seed, index)` ([`render_random`]) or from a
//! scenario sequence ([`SequenceSpec`]), then rendered by one software rasteriser
//! that draws a colour buffer and an instance-id buffer side by side. Labels come
//! from the id buffer only; post-effects change colours, never the mask.
//!
//! Determinism: all randomness comes from a seeded xoshiro256** stream, all
//! transcendental maths from `libm`, and frames are rendered single-threaded, so
//! the same seed yields the same bytes on any machine. See docs/SYNTH.md.

#![allow(clippy::result_large_err)]

pub mod actors;
pub mod dataset;
mod effects;
pub mod geom;
pub mod ncap;
pub mod ncap_turn;
pub mod random;
pub mod raster;
pub mod rng;
pub mod scene;
pub mod scenery;
pub mod sequence;

pub use dataset::{write_dataset, write_sequence, DatasetSummary};
pub use random::{random_scene, render_random, render_random_with_mask};
pub use scene::{render_scene, Environment, RenderOutput, Scene};
pub use sequence::{ActorSpec, Keyframe, SequenceSpec};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Class names; `class_id` indexes this array (COCO category id = class_id + 1). They are
/// the scenario vocabulary every bundled scenario speaks (`core::types`), which an adapter's
/// `scenario_classes` maps a detector's own classes onto.
pub const CLASS_NAMES: [&str; 5] = adasval_core::types::SCENARIO_CLASSES;

/// Ambient light of a scene.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Lighting {
    Day,
    Dusk,
    Night,
}

/// Weather of a scene (combines with any lighting).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weather {
    #[default]
    Clear,
    Fog,
    Rain,
}

/// One-word summary of a frame's conditions: the weather when it is not clear,
/// else the lighting. The full pair is in `Frame::lighting` and `Frame::weather`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Day,
    Dusk,
    Night,
    Fog,
    Rain,
}

impl Condition {
    pub fn from_parts(lighting: Lighting, weather: Weather) -> Self {
        match (weather, lighting) {
            (Weather::Fog, _) => Condition::Fog,
            (Weather::Rain, _) => Condition::Rain,
            (Weather::Clear, Lighting::Day) => Condition::Day,
            (Weather::Clear, Lighting::Dusk) => Condition::Dusk,
            (Weather::Clear, Lighting::Night) => Condition::Night,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Condition::Day => "day",
            Condition::Dusk => "dusk",
            Condition::Night => "night",
            Condition::Fog => "fog",
            Condition::Rain => "rain",
        }
    }
}

impl Lighting {
    pub fn name(self) -> &'static str {
        match self {
            Lighting::Day => "day",
            Lighting::Dusk => "dusk",
            Lighting::Night => "night",
        }
    }
}

impl Weather {
    pub fn name(self) -> &'static str {
        match self {
            Weather::Clear => "clear",
            Weather::Fog => "fog",
            Weather::Rain => "rain",
        }
    }
}

/// One rendered frame with its labels.
#[derive(Clone, Debug)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB8, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    pub condition: Condition,
    pub lighting: Lighting,
    pub weather: Weather,
    pub environment: Environment,
    pub objects: Vec<LabeledObject>,
}

/// One labelled actor. Actors with no visible pixel are not listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledObject {
    /// Index into [`CLASS_NAMES`].
    pub class_id: u32,
    /// Finer kind: adult, child, cyclist, sedan, hatchback, suv, van, truck, bus,
    /// cone, box, barrel, tyre, rock, debris.
    pub kind: String,
    /// [x, y, w, h]: tight box of the visible pixels in the instance mask.
    pub bbox: [f32; 4],
    /// [x, y, w, h]: tight box of the actor rendered alone, unoccluded and unclipped.
    pub full_bbox: [f32; 4],
    pub visible_pixels: u32,
    /// Pixels of the actor rendered alone, inside the image.
    pub full_pixels: u32,
    /// Pixels of the actor rendered alone, including those outside the image.
    pub full_pixels_unclipped: u32,
    /// 1 - visible_pixels / full_pixels: the share hidden by nearer things.
    pub occlusion: f32,
    /// 1 - full_pixels / full_pixels_unclipped: the share outside the image.
    pub truncation: f32,
    pub track_id: u64,
    /// Too small (visible height < 6 px), too hidden (occlusion > 0.9) or too faint
    /// (visibility < 0.1) to be required of a detector; kept in the labels.
    pub ignore: bool,
    /// Distance along the camera axis in metres.
    pub distance_m: f32,
    /// Share of the object's contrast that reaches the camera (fog transmission
    /// times a darkness factor), 0..1.
    pub visibility: f32,
}

/// Errors of the scene generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid sequence: {field}: {message}")]
    InvalidSpec { field: String, message: String },
    #[error("frame {frame} out of range: the sequence has {frames} frames")]
    FrameOutOfRange { frame: u32, frames: u32 },
    #[error("invalid image size {width}x{height}: both must be between 16 and 4096")]
    BadSize { width: u32, height: u32 },
    #[error("invalid count {0}: must be at least 1")]
    BadCount(u32),
    #[error("cannot parse sequence YAML: {0}")]
    Parse(String),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl adasval_core::exit::Classify for SynthError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// Hex SHA-256 of the raw RGB bytes of a frame (the determinism guard).
pub fn frame_pixel_hash(frame: &Frame) -> String {
    adasval_core::hash::sha256_hex(&frame.rgb)
}

pub(crate) fn check_size(width: u32, height: u32) -> Result<(), SynthError> {
    if !(16..=4096).contains(&width) || !(16..=4096).contains(&height) {
        return Err(SynthError::BadSize { width, height });
    }
    Ok(())
}
