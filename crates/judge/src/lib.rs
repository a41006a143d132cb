//! Judging run records: detection metrics, WCET bounds, requirements and verdicts, evidence sealing and verification, and the cross-run analyses (compare, matrix, diff). Reads records and returns data; depends on nothing that runs an engine.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod compare;
pub mod detection;
pub mod evidence;
pub mod evidence_items;
pub mod families;
pub mod matrix;
pub mod metrics;
pub mod regress;
pub mod robustness;
pub mod safety;
pub mod timing;
pub mod wcet;
