//! Fuzz target: `run.json`, whole record and header view: `adasval_record::record::{parse_run, parse_run_header}`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::run_json(data));
