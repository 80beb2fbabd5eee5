//! Fuzz target `mutate`: the body is `tern_tests::harness::mutate`, which the
//! replay test also runs on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tern_tests::harness::mutate(data);
});
