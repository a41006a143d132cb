//! Fuzz target: `MANIFEST.sha256` (raw bytes, as `evidence verify` reads them): `adasval_judge::evidence::manifest::parse_manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::manifest(data));
