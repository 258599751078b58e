//! Fuzz target `claims`: the body is `keycard_fuzz::claims`, which `tests/fuzz_corpus.rs` replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_fuzz::claims(data));
