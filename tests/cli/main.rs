//! End-to-end tests of the `adasval` binary and its pipelines: each module runs commands
//! on the bundled demo, hand-made run directories or the shared folder and checks files,
//! exit codes and messages.
//!
//! One test binary per kind of test, so a clean build links four test binaries
//! instead of one per file; helpers are shared through `common`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../cudaplan_fixture/mod.rs"]
mod cudaplan_fixture;
#[path = "../safety_fixture/mod.rs"]
mod safety_fixture;

mod architecture;
mod bounded_runs;
mod compare_runs;
mod corruption_ladders;
mod crash_safety;
mod cudaplan_cli;
mod decoder_families;
mod demo_pipeline;
mod demo_runner;
mod diff_layers;
mod engine_probe;
mod engine_repetitions;
mod eval_cli;
mod eval_run;
mod evidence_bundle;
mod exit_classes;
mod farm;
mod farm_recipes;
mod farm_units;
mod hardening;
mod host_path;
mod incomplete_runs;
mod integrity;
mod judge_stored;
mod matrix;
mod project_paths;
mod record_schema;
mod regress_calibration;
mod report_browser;
mod safety_browser;
mod safety_gate;
mod scenario_catalogue;
mod scenario_vocabulary;
mod selftest;
mod slice_requirements;
mod slurm;
mod streams;
mod sweep_cli;
mod synth_cli;
mod tamper_sweep;
mod tool_identity;
mod trt;
mod trust;
mod vocabulary;
mod waivers;
mod wcet_cli;
