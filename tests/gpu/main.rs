//! GPU tests of the CUDA backend (run on a GPU machine by `scripts/gpu_tests.sh`; without a
//! usable GPU each test prints why it skipped, and fails when `CI=true` asks for a GPU).
//!
//! One test binary per kind of test, so a clean build links four test binaries
//! instead of one per file; helpers are shared through `common`.

#[path = "../common/mod.rs"]
mod common;

mod gpu_cuda;
