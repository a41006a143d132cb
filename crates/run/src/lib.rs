//! Replay: the backend traits and the CPU, no-op, external-runner and trtexec backends, preprocessing, output decoders, the timed loop and concurrent streams.

// Errors carry the file, line, field, hashes and paths a user needs to act on them; they
// are built only on the cold path, so their size is not worth boxing every variant.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod decode;
pub mod heap;
pub mod preprocess;
// Reads ONNX through tract: with the CPU backend only (the fuzz targets build without it).
#[cfg(feature = "cpu")]
pub mod probe;
pub mod replay;
pub mod runner_protocol;
pub mod streams;
pub mod trtexec;
