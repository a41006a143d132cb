//! Fuzz target: trtexec `--exportTimes`, `--exportProfile`, `--exportLayerInfo`: `adasval_record::trtexec_export`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::trtexec_exports(data));
