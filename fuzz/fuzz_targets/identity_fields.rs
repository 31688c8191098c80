#![no_main]
//! Fuzz target: see `kith::fuzzing::identity_fields`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::identity_fields(data));
