//! Fuzz target: KITTI `label_2` text: `adasval_scenario::labels::parse_kitti`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::kitti_labels(data));
