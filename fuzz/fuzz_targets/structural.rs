//! Fuzz target `structural`: the body is `tern_tests::structural::structural`,
//! which the replay test also runs on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tern_tests::structural::structural(data);
});
