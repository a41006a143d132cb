//! Fuzz target: Scenario YAML (`scenarios/*.yaml`): `adasval_scenario::Scenario::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::scenario_yaml(data));
