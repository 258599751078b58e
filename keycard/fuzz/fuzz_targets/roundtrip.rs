//! Fuzz target `roundtrip`: the body is `keycard_fuzz::roundtrip`, which `tests/fuzz_corpus.rs` replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_fuzz::roundtrip(data));
