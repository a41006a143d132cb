//! Fuzz target: Waivers YAML against the project's own requirements: `adasval_judge::safety::Waivers::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::waivers_yaml(data));
