//! Fuzz target: `.cudaplan` files (magic, header length, JSON plan, weights; then the structural checks): `adasval_plan::format::PlanFile::from_bytes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::cudaplan(data));
