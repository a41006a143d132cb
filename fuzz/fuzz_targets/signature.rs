//! Fuzz target: `MANIFEST.sha256.sig` and public-key files: `adasval_judge::evidence::keys::{parse_signature, parse_verifying_key}`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::signature(data));
