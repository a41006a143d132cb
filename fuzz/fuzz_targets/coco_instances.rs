//! Fuzz target: COCO instances (golden labels): `adasval_record::coco::read_instances`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::coco_instances(data));
