//! Fuzz target: External-runner protocol frames, read one after another from a byte stream as the `runner` backend does: `adasval_run::runner_protocol::read_message`, then `to_f32`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adasval_fuzz::readers::runner_frames(data));
