//! The run record, the contract between adasval's stages: every type written to or read from a run directory, the lock file, platform profiles and fingerprints, and their readers and writers. Depends on nothing that runs an engine.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod adapter;
pub mod bdd100k;
pub mod coco;
pub mod decoder_spec;
pub mod jetson;
pub mod kitti;
pub mod lock;
pub mod model_signature;
pub mod platform;
pub mod record;
pub mod scenario_classes;
pub mod stored;
pub mod sweep;
pub mod tool;
pub mod trace;
pub mod trtexec_export;
pub mod units;
