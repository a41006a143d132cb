//! adasval: validation of neural-network perception engines for driver assistance.
//!
//! Data flows one way: frozen engines ([`lock`]) + scenarios → replay on a backend →
//! run record → judge (metrics, WCET, verdicts) → reports and evidence. Each stage is a
//! crate of the workspace (`crates/`); this crate holds the command line and the pipelines
//! that chain the stages (`validate`, `analysis`, `sweep`), and re-exports every stage
//! under its old module path so `adasval::record`, `adasval::wcet`, ... keep working.
//! See `docs/ARCHITECTURE.md` for the one-page map.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod analysis;
pub mod backend;
pub mod farm;
pub mod interleave;
pub mod qualification;
pub mod selftest;
pub mod sweep;
pub mod tool;
pub mod validate;

pub use adasval_core::{
    atomic, exit, hash, names, paths, rgb, rng, rundir, suggest, tensor, timing, types, yamlfile,
};
pub use adasval_corrupt as corrupt;
pub use adasval_judge::{compare, evidence, matrix, metrics, regress, safety, wcet};
pub use adasval_plan as cudaplan;
pub use adasval_record::{
    adapter, jetson, lock, model_signature, platform, record, stored, trace, units,
};
pub use adasval_report as report;
pub use adasval_run::{decode, preprocess, probe, replay, runner_protocol, streams, trtexec};
pub use adasval_scenario as scenario;
pub use adasval_synth as synth;
