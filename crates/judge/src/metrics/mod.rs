//! Detection metrics: where replayed detections meet golden labels and each other.
//!
//! Sits after replay and before verdicts/reports: [`coco`] is the pycocotools-equivalent COCO
//! evaluator (standalone `adasval eval`, and the AP of a validation run), [`frames`] the
//! per-class precision/recall tables with Clopper–Pearson intervals and the pedestrian
//! log-average miss rate, [`safety`] the critical-miss list and deadline-aware recall,
//! [`consistency`] the comparison of two runs of the same frames, [`kitti`] the KITTI
//! devkit's 2-D evaluation (difficulty levels, `DontCare`, AP at 11 and 40 recall points). All matching goes through
//! [`matching::greedy_match`], so every view counts a detection the same way. [`slice`] takes
//! any of them on one slice of the objects; [`citypersons`] and [`eurocity`] are those
//! benchmarks' pedestrian subsets and miss rates.

pub mod citypersons;
pub mod coco;
pub mod consistency;
pub mod error;
pub mod eurocity;
pub mod frames;
pub mod iou;
pub mod kitti;
pub mod lamr;
pub mod matching;
pub mod safety;
pub mod slice;
pub mod stats;
pub mod ttc;

pub use error::MetricsError;
