//! Property tests: parsers never panic on mutated input, generators and estimators keep
//! their invariants (proptest; failures are kept in `*.proptest-regressions`).
//!
//! One test binary per kind of test, so a clean build links four test binaries
//! instead of one per file; helpers are shared through `common`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../cudaplan_fixture/mod.rs"]
mod cudaplan_fixture;

mod cudaplan_format;
mod fuzz_regressions;
mod metrics_coco_parser;
mod parser_props;
mod scenario_sweeps;
mod synth_props;
mod wcet_props;
