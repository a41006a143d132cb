//! Fuzz target: BDD100K (Scalabel) 2-D label JSON: `adasval_record::bdd100k::read`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::bdd100k_labels(data));
