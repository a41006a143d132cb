//! Fuzz target: Model adapter YAML: `adasval_record::adapter::Adapter::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::adapter_yaml(data));
