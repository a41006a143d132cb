//! Fuzz target: The lock file (`engines/engines.lock.yaml`): `adasval_record::lock::LockFile::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::lock_yaml(data));
