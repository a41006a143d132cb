//! Fuzz target: PASCAL VOC XML labels: `adasval_scenario::labels::parse_voc`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::voc_xml(data));
