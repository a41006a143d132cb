//! Figures checked against independent references (scipy, statsmodels, pycocotools,
//! onnxruntime, tract, lmoments3) or against exact expectations on generated data.
//!
//! One test binary per kind of test, so a clean build links four test binaries
//! instead of one per file; helpers are shared through `common`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../cudaplan_fixture/mod.rs"]
mod cudaplan_fixture;
#[path = "../safety_fixture/mod.rs"]
mod safety_fixture;

mod citypersons;
mod corruptions;
mod cudaplan_fuse;
mod cudaplan_import;
mod decoders;
mod demo_headline;
mod demo_model;
mod eurocity;
mod eval_coco_equivalence;
mod homogeneity;
mod kitti_equivalence;
mod metrics_frames;
mod ncap_geometry;
mod qualification_cases;
mod quantile_ci;
mod regress_stats;
mod safety_requirements;
mod sweep_stats;
mod synth_determinism;
mod synth_labels;
mod ttc_requirement;
mod wcet_behaviour;
mod wcet_calibration;
mod wcet_reference;
mod yolox_voc;
