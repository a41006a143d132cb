//! Fuzz target: COCO results (detections): `adasval_record::coco::read_results`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::coco_results(data));
