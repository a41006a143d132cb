//! Shared foundations of adasval: exit classes, hashing, atomic writes, the seeded generator, value types, tensors, YAML loading with positions, project-relative paths and latency summaries. Depends on no other adasval crate.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod atomic;
pub mod beta;
pub mod exit;
pub mod hash;
pub mod names;
pub mod paths;
pub mod quantile_ci;
pub mod rgb;
pub mod rng;
pub mod rundir;
pub mod suggest;
pub mod tensor;
pub mod timing;
pub mod types;
pub mod yamlfile;
