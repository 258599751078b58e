//! Fuzz target `header`: the body is `keycard_fuzz::header`, which `tests/fuzz_corpus.rs` replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_fuzz::header(data));
