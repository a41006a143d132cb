//! adasval: validation of neural-network perception engines for driver assistance.
//!
//! Data flows one way: frozen engines ([`lock`]) + scenarios → replay on a backend →
//! run record → compare / timing / wcet → verdicts → reports and evidence.
//! See `docs/ARCHITECTURE.md` for the one-page map.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod adapter;
pub mod analysis;
pub mod atomic;
pub mod backend;
pub mod compare;
pub mod cudaplan;
pub mod decode;
pub mod evidence;
pub mod exit;
pub mod hash;
pub mod jetson;
pub mod lock;
pub mod matrix;
pub mod metrics;
pub mod paths;
pub mod platform;
pub mod preprocess;
pub mod record;
pub mod regress;
pub mod replay;
pub mod report;
pub mod rng;
pub mod runner_protocol;
pub mod safety;
pub mod scenario;
pub mod streams;
pub mod sweep;
pub mod synth;
pub mod tensor;
pub mod timing;
pub mod trtexec;
pub mod types;
pub mod validate;
pub mod wcet;
pub mod yamlfile;
