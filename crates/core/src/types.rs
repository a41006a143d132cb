//! Core value types shared by every stage: boxes, detections and ground-truth objects.
//!
//! Boxes are in pixels of the original (unprocessed) image, `[x, y, w, h]` with (x, y) the
//! top-left corner, as in COCO.

use serde::{Deserialize, Serialize};

/// Axis-aligned box `[x, y, w, h]` in original-image pixels.
pub type BoxXywh = [f32; 4];

/// The scenario vocabulary: the classes the scene generator draws and every bundled scenario
/// labels. A detector with other classes maps its own onto these in its adapter
/// (`scenario_classes`); one it maps nothing onto is a class that detector cannot detect.
pub const SCENARIO_CLASSES: [&str; 5] = ["pedestrian", "cyclist", "car", "truck", "obstacle"];

/// One detector output after decoding and NMS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Index into the adapter's class list.
    pub class_id: u32,
    pub score: f32,
    pub bbox: BoxXywh,
}

/// One golden-label object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtObject {
    /// Index into the adapter's class list (after class-name mapping).
    pub class_id: u32,
    pub bbox: BoxXywh,
    /// Ignore region (KITTI DontCare, COCO iscrowd, VOC difficult): matches to it are
    /// neither true nor false positives, and a miss is not counted.
    #[serde(default)]
    pub ignore: bool,
    /// COCO-style crowd region (matching semantics of pycocotools' iscrowd).
    #[serde(default)]
    pub crowd: bool,
    /// 1 − visible area / full area, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occlusion: Option<f32>,
    /// Fraction of the object outside the image, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<f32>,
    /// Identity across frames of a sequence, when known (for K-consecutive-miss analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_id: Option<u64>,
    /// Time to collision (s) with this object at this frame, without braking, where the
    /// scene defines one (the target of a Euro NCAP instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttc_s: Option<f32>,
    /// Longitudinal distance (m) from the ego's bumper to the object, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f32>,
}
