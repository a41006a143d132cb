//! Fuzz target: GSN safety case YAML: `adasval_judge::safety::Gsn::parse`, then the requirement links.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::gsn_yaml(data));
