//! Model adapters: how to feed a detector and how to read its outputs, as YAML data.
//!
//! An adapter sits beside each frozen engine in the lock (with its own SHA-256), so a
//! threshold edit changes a hash. Preprocessing (`preprocess` in the run crate) and decoding
//! (`decode`) are driven entirely by it: a detector whose output is a supported
//! layout needs no code.

use serde::{Deserialize, Serialize};
use std::path::Path;

use adasval_core::yamlfile::{self, YamlError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Adapter {
    pub schema_version: u32,
    pub name: String,
    pub input: InputSpec,
    pub output: OutputSpec,
    /// Class names in the model's output order.
    pub classes: Vec<String>,
    /// Classes whose misses are safety-relevant (pedestrian, cyclist, vehicle, obstacle).
    #[serde(default)]
    pub safety_critical: Vec<String>,
    pub score_threshold: f32,
    pub nms_iou: f32,
    #[serde(default = "default_max_detections")]
    pub max_detections: usize,
    /// NMS across classes (one box per place whatever its class) instead of per class.
    #[serde(default)]
    pub nms_class_agnostic: bool,
    /// Keep only the best `top_k` candidates (by score) before NMS, as most detectors'
    /// own post-processing does; unset keeps them all.
    #[serde(default)]
    pub top_k: Option<usize>,
    /// Clip boxes to the network input before NMS (torchvision's detectors do); boxes are
    /// always clipped to the original image afterwards.
    #[serde(default)]
    pub clip_to_input: bool,
    /// How the model's classes map onto the scenario classes (`{pedestrian: person, truck:
    /// [truck, bus]}`); with it the engine is judged in the scenario vocabulary and a
    /// scenario class left out is one it cannot detect (`scenario_classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_classes: Option<crate::scenario_classes::ScenarioClassMap>,
}

fn default_max_detections() -> usize {
    100
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
    Nhwc,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub tensor: String,
    pub layout: Layout,
    pub width: u32,
    pub height: u32,
    pub channel_order: ChannelOrder,
    /// `x = (pixel * scale - mean[c]) / std[c]`, pixel in 0..=255.
    #[serde(default = "one")]
    pub scale: f32,
    #[serde(default = "zeros")]
    pub mean: [f32; 3],
    #[serde(default = "ones")]
    pub std: [f32; 3],
    pub resize: Resize,
}

fn one() -> f32 {
    1.0
}
fn zeros() -> [f32; 3] {
    [0.0; 3]
}
fn ones() -> [f32; 3] {
    [1.0; 3]
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum Resize {
    /// Scale each axis independently to the input size.
    Stretch,
    /// Keep the aspect ratio and pad the rest with `pad_value`.
    Letterbox {
        #[serde(default = "default_pad")]
        pad_value: u8,
        #[serde(default)]
        placement: Placement,
    },
}

fn default_pad() -> u8 {
    114
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Image at the top-left, padding at bottom/right (YOLOX).
    #[default]
    TopLeft,
    Center,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "decoder", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputSpec {
    /// Anchor-free grid layout of YOLOX: `[1, N, 4 + 1 + C]` over stride grids in order;
    /// xy = (raw + cell) * stride, wh = exp(raw) * stride, score = obj * cls.
    Yolox { tensor: String, strides: Vec<u32> },
    /// Generic post-processed layout: boxes `[1, N, 4]`, scores `[1, N]`, classes `[1, N]`.
    BoxesScoresClasses {
        boxes: String,
        scores: String,
        classes: String,
        #[serde(default)]
        box_format: BoxFormat,
        /// Boxes are normalised to 0..1 of the network input rather than pixels.
        #[serde(default)]
        normalized: bool,
        /// Apply NMS after thresholding (false when the model already did).
        #[serde(default)]
        apply_nms: bool,
    },
    /// TensorRT's EfficientNMS_TRT / BatchedNMS plugin outputs: `num_detections` `[B, 1]`
    /// (int32), boxes `[B, K, 4]`, scores `[B, K]`, classes `[B, K]`; only the first
    /// `num_detections` rows of batch 0 are valid. NMS already ran in the engine.
    EfficientNms {
        num_detections: String,
        boxes: String,
        scores: String,
        classes: String,
        /// EfficientNMS `box_coding` 0 writes xyxy corners (the default), 1 cxcywh.
        #[serde(default)]
        box_format: BoxFormat,
        /// Boxes are normalised to 0..1 of the network input rather than pixels.
        #[serde(default)]
        normalized: bool,
    },
    /// The general grid decoder (anchor-free or anchor-based, one tensor per stride or one
    /// for all): see [`GridSpec`]. YOLOX, YOLOv5/v7, YOLOv8/v11 and FCOS are configurations.
    Grid(GridSpec),
    /// End-to-end detectors without NMS (DETR, RT-DETR, Deformable DETR): one box per query.
    EndToEnd(EndToEndSpec),
    /// SSD / RetinaNet: box deltas and class scores against priors (anchors).
    Priors(PriorsSpec),
    /// A table already decoded by the model, one row per detection (`[N, 6]`, `[N, 7]`,
    /// YOLOv10's `[1, 300, 6]`, ONNX NMS exports).
    Table(TableSpec),
}

pub use crate::decoder_spec::{
    Activation, Background, BoxEncoding, BoxField, ChannelMap, Column, EndToEndSpec, GridLayout,
    GridSpec, PriorsSpec, QueryScoring, ScoreSpec, TableSpec, Unit,
};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BoxFormat {
    #[default]
    Xyxy,
    Xywh,
    Cxcywh,
    Yxyx,
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{path}: field `{field}`: {message}")]
    Invalid {
        path: String,
        field: &'static str,
        message: String,
    },
}

impl adasval_core::exit::Classify for AdapterError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

impl Adapter {
    pub fn load(path: &Path) -> Result<Self, AdapterError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AdapterError::Yaml(YamlError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                field: None,
                message: format!("cannot read: {e}"),
            })
        })?;
        Self::parse(path, &text)
    }

    /// Parse adapter YAML text (e.g. the exact bytes that were hashed).
    pub fn parse(path: &Path, text: &str) -> Result<Self, AdapterError> {
        let a: Adapter = yamlfile::parse(path, text)?;
        a.validate(&path.display().to_string())?;
        Ok(a)
    }

    fn validate(&self, path: &str) -> Result<(), AdapterError> {
        let bad = |field, message: String| AdapterError::Invalid {
            path: path.to_string(),
            field,
            message,
        };
        if self.schema_version != 1 {
            return Err(bad(
                "schema_version",
                format!("unsupported version {}", self.schema_version),
            ));
        }
        if self.input.width == 0 || self.input.height == 0 {
            return Err(bad("input", "width and height must be positive".into()));
        }
        // A NaN scale or mean turns every input into NaN and the run into zero detections
        // that still look like a measurement.
        if !self.input.scale.is_finite() {
            return Err(bad(
                "input.scale",
                format!("must be a finite number, not {}", self.input.scale),
            ));
        }
        if let Some(m) = self.input.mean.iter().find(|m| !m.is_finite()) {
            return Err(bad(
                "input.mean",
                format!("must be finite numbers, not {m}"),
            ));
        }
        if self.input.std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(bad("input.std", "must be finite and non-zero".into()));
        }
        if self.classes.is_empty() {
            return Err(bad("classes", "at least one class is required".into()));
        }
        for c in &self.safety_critical {
            if !self.classes.contains(c) {
                return Err(bad(
                    "safety_critical",
                    format!("`{c}` is not one of the classes"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.score_threshold) {
            return Err(bad(
                "score_threshold",
                format!("must be in [0, 1], not {}", self.score_threshold),
            ));
        }
        if !(0.0..=1.0).contains(&self.nms_iou) {
            return Err(bad(
                "nms_iou",
                format!("must be in [0, 1], not {}", self.nms_iou),
            ));
        }
        if self.top_k == Some(0) {
            return Err(bad(
                "top_k",
                "must be at least 1 (leave it out to keep all)".into(),
            ));
        }
        if let Some(map) = &self.scenario_classes {
            crate::scenario_classes::check(map, &self.classes)
                .map_err(|m| bad("scenario_classes", m))?;
        }
        self.output
            .validate(&self.input, self.classes.len())
            .map_err(|(field, message)| bad(field, message))?;
        if let OutputSpec::Yolox { strides, .. } = &self.output {
            if strides.is_empty() || strides.contains(&0) {
                return Err(bad("output.strides", "need positive strides".into()));
            }
            for s in strides {
                if !self.input.width.is_multiple_of(*s) || !self.input.height.is_multiple_of(*s) {
                    return Err(bad(
                        "output.strides",
                        format!("input size is not a multiple of stride {s}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The classes a run judges this engine in: its own, or the scenario classes its
    /// `scenario_classes` maps onto.
    pub fn judged_classes(&self) -> crate::scenario_classes::JudgedClasses {
        use crate::scenario_classes::JudgedClasses;
        match &self.scenario_classes {
            Some(map) => JudgedClasses::through(map, &self.classes, &self.safety_critical),
            None => JudgedClasses::own(&self.classes, &self.safety_critical),
        }
    }

    pub fn class_id(&self, name: &str) -> Option<u32> {
        self.classes
            .iter()
            .position(|c| c == name)
            .map(|i| i as u32)
    }

    pub fn is_safety_critical(&self, class_id: u32) -> bool {
        self.classes
            .get(class_id as usize)
            .is_some_and(|c| self.safety_critical.contains(c))
    }
}
