//! Fuzz target: `latencies.csv` (8, 11 and 12 columns): `adasval_record::record::parse_latencies_csv_streams`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::latencies_csv(data));
