//! adasval: validation of neural-network perception engines for driver assistance.
//!
//! Data flows one way: frozen engines ([`lock`]) + scenarios → replay on a backend →
//! run record → compare / timing / wcet → verdicts → reports and evidence.
//! See `docs/ARCHITECTURE.md` for the one-page map.

pub mod adapter;
pub mod analysis;
pub mod atomic;
pub mod backend;
pub mod compare;
pub mod decode;
pub mod evidence;
pub mod exit;
pub mod hash;
pub mod lock;
pub mod metrics;
pub mod paths;
pub mod platform;
pub mod preprocess;
pub mod record;
pub mod replay;
pub mod report;
pub mod rng;
pub mod safety;
pub mod scenario;
pub mod synth;
pub mod tensor;
pub mod timing;
pub mod types;
pub mod validate;
pub mod wcet;
pub mod yamlfile;
