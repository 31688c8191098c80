#![no_main]
//! Fuzz target: see `kith::fuzzing::resp_frame`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::resp_frame(data));
