//! Fuzz target: trtexec's log and `--exportOutput`: `adasval_run::trtexec::{tensorrt_version, inference_options, parse_exported_outputs}`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::trtexec_log(data));
