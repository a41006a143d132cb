//! Fuzz target: Requirements YAML: `adasval_judge::safety::Requirements::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::requirements_yaml(data));
